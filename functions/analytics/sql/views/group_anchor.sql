-- view group_anchor: the dates each group's audio is compared around: the publication date of each of
-- its titles ('publication') and each dated milestone of those titles (dim_milestone: pre-order,
-- backlist promotion, campaign starts), with the campaign's last day where known.
SELECT DISTINCT
    g.group_type, g.group_key, g.group_label, t.work_id, t.title AS anchor_title,
    'publication' AS anchor_kind, t.publication_date AS anchor_date, CAST(NULL AS DATE) AS anchor_end
FROM dim_group g
JOIN dim_title t ON t.work_id = g.work_id
WHERE t.publication_date IS NOT NULL
UNION
SELECT DISTINCT
    g.group_type, g.group_key, g.group_label, t.work_id, t.title AS anchor_title,
    m.milestone AS anchor_kind, m.milestone_date AS anchor_date, m.window_end AS anchor_end
FROM dim_group g
JOIN dim_milestone m ON m.work_id = g.work_id
JOIN dim_title t ON t.work_id = m.work_id
