-- view entity_group: which groups (group_type episode | title | series | author | genre; see dim_group)
-- each source entity counts towards. An episode reaches its own groups; a show reaches, once per
-- group, every group other than 'episode' with an episode in that show's series; an Ads campaign
-- reaches, once per group, every group other than 'episode' with an episode of one of the campaign's
-- works (the audio works launched with the campaign's title: see Dimensions.key_rows).
SELECT k.source, k.entity_type, k.entity_id, g.group_type, g.group_key
FROM dim_key k
JOIN dim_group g ON g.product_id = k.product_id
WHERE k.entity_type = 'episode'
UNION ALL
SELECT DISTINCT k.source, k.entity_type, k.entity_id, g.group_type, g.group_key
FROM dim_key k
JOIN dim_group g ON g.series_id = k.series_id
WHERE k.entity_type = 'show' AND g.group_type <> 'episode'
UNION ALL
SELECT DISTINCT k.source, k.entity_type, k.entity_id, g.group_type, g.group_key
FROM dim_key k
JOIN dim_group g ON g.work_id = k.work_id
WHERE k.entity_type = 'campaign' AND g.group_type <> 'episode'
