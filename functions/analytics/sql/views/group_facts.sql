-- view group_facts: every whole-audience daily fact (dimension 'total'), attributed to each group it
-- counts towards (group_type episode | title | series | author | genre; see dim_group).
-- Episode facts reach their episode's groups. Show facts reach, once per group, every group other than
-- 'episode' with an episode in that show's series; only followers are read at show level (a show's
-- starts/streams/listeners would count its episodes twice). Ads campaign facts reach, once per group,
-- every group other than 'episode' with an episode of the campaign's work.
SELECT
    g.group_type, g.group_key, g.group_label,
    f.source, f.official, f.entity_type, f.entity_id, f.metric, f."date" AS day, f.value
FROM facts f
JOIN dim_key k ON k.source = f.source AND k.entity_type = f.entity_type AND k.entity_id = f.entity_id
JOIN dim_group g ON g.product_id = k.product_id
WHERE f.dimension = 'total' AND f.entity_type = 'episode'
UNION ALL
SELECT
    s.group_type, s.group_key, s.group_label,
    f.source, f.official, f.entity_type, f.entity_id, f.metric, f."date" AS day, f.value
FROM facts f
JOIN dim_key k ON k.source = f.source AND k.entity_type = f.entity_type AND k.entity_id = f.entity_id
JOIN (
    SELECT DISTINCT group_type, group_key, group_label, series_id
    FROM dim_group
    WHERE group_type <> 'episode' AND series_id IS NOT NULL
) s ON s.series_id = k.series_id
WHERE f.dimension = 'total' AND f.entity_type = 'show' AND f.metric IN ('followers', 'followers_gained')
UNION ALL
SELECT
    w.group_type, w.group_key, w.group_label,
    f.source, f.official, f.entity_type, f.entity_id, f.metric, f."date" AS day, f.value
FROM facts f
JOIN dim_key k ON k.source = f.source AND k.entity_type = f.entity_type AND k.entity_id = f.entity_id
JOIN (
    SELECT DISTINCT group_type, group_key, group_label, work_id
    FROM dim_group
    WHERE group_type <> 'episode'
) w ON w.work_id = k.work_id
WHERE f.dimension = 'total' AND f.entity_type = 'campaign'
