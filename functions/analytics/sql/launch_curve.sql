-- launch_curve: each group's daily measures aligned on its titles' publication dates (day 0 =
-- publication), from -window_days to +window_days, averaged over the group's launches, for the groups
-- of one group_type (the chart shows one grouping; all of them at once would be mostly episodes).
-- parameters: window_days INTEGER, group_type VARCHAR
WITH params AS (
    SELECT CAST(? AS INTEGER) AS window_days, CAST(? AS VARCHAR) AS group_type
),
launches AS (
    SELECT a.group_type, a.group_key, a.group_label, a.work_id, a.anchor_date
    FROM group_anchor a
    CROSS JOIN params p
    WHERE a.anchor_kind = 'publication' AND a.group_type = p.group_type
),
launch_counts AS (
    SELECT group_type, group_key, COUNT(*) AS launches
    FROM launches
    GROUP BY group_type, group_key
),
aligned AS (
    SELECT l.group_type, l.group_key, l.group_label, d.metric, date_diff('day', l.anchor_date, d.day) AS offset_days, d.value
    FROM launches l
    JOIN group_measure_daily d ON d.group_type = l.group_type AND d.group_key = l.group_key
    CROSS JOIN params p
    WHERE date_diff('day', l.anchor_date, d.day) BETWEEN -p.window_days AND p.window_days
)
SELECT
    a.group_type, a.group_key, a.group_label, a.metric, a.offset_days,
    SUM(a.value) / CAST(c.launches AS DOUBLE) AS value_per_launch, c.launches
FROM aligned a
JOIN launch_counts c ON c.group_type = a.group_type AND c.group_key = a.group_key
GROUP BY a.group_type, a.group_key, a.group_label, a.metric, a.offset_days, c.launches
ORDER BY a.group_type ASC NULLS LAST, a.group_key ASC NULLS LAST, a.metric ASC NULLS LAST, a.offset_days ASC NULLS LAST
