-- view group_entity_daily: each entity-day of entity_daily, once for every group it counts towards.
SELECT eg.group_type, eg.group_key, e.*
FROM entity_daily e
JOIN entity_group eg ON eg.source = e.source AND eg.entity_type = e.entity_type AND eg.entity_id = e.entity_id
