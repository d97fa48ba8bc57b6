-- campaign_windows: each group's milestones and campaign windows in days from the publication of the
-- same title (day 0), for marking them on the launch-aligned charts.
SELECT DISTINCT
    g.group_type, g.group_key, g.group_label, m.work_id, m.milestone, m.campaign_id,
    date_diff('day', t.publication_date, m.milestone_date) AS start_offset,
    date_diff('day', t.publication_date, COALESCE(m.window_end, m.milestone_date)) AS end_offset
FROM dim_group g
JOIN dim_milestone m ON m.work_id = g.work_id
JOIN dim_title t ON t.work_id = m.work_id
WHERE t.publication_date IS NOT NULL
ORDER BY group_type ASC NULLS LAST, group_key ASC NULLS LAST, start_offset ASC NULLS LAST, milestone ASC NULLS LAST
