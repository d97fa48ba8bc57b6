-- launch_comparison: per group, anchor (a title's publication or one of its milestones) and measure,
-- the window_days days before the anchor against the window_days days from it (day 0 = the anchor).
-- after_days_observed says how much of the after-window lies on or before as_of (the data's last day),
-- so a launch still in progress is not read as a fall.
-- parameters: window_days INTEGER, as_of DATE
WITH params AS (
    SELECT CAST(? AS INTEGER) AS window_days, CAST(? AS DATE) AS as_of
),
aligned AS (
    SELECT
        a.group_type, a.group_key, a.group_label, a.work_id, a.anchor_title, a.anchor_kind, a.anchor_date,
        d.metric, date_diff('day', a.anchor_date, d.day) AS offset_days, d.value
    FROM group_anchor a
    JOIN group_measure_daily d ON d.group_type = a.group_type AND d.group_key = a.group_key
    CROSS JOIN params p
    WHERE date_diff('day', a.anchor_date, d.day) BETWEEN -p.window_days AND p.window_days - 1
)
SELECT
    x.group_type, x.group_key, x.group_label, x.work_id, x.anchor_title, x.anchor_kind, x.anchor_date, x.metric,
    SUM(CASE WHEN x.offset_days < 0 THEN x.value ELSE 0 END) AS before_value,
    SUM(CASE WHEN x.offset_days >= 0 THEN x.value ELSE 0 END) AS after_value,
    (SUM(CASE WHEN x.offset_days >= 0 THEN x.value ELSE 0 END) - SUM(CASE WHEN x.offset_days < 0 THEN x.value ELSE 0 END))
        / NULLIF(SUM(CASE WHEN x.offset_days < 0 THEN x.value ELSE 0 END), 0) AS change_ratio,
    LEAST(GREATEST(date_diff('day', x.anchor_date, p.as_of) + 1, 0), p.window_days) AS after_days_observed
FROM aligned x
CROSS JOIN params p
GROUP BY
    x.group_type, x.group_key, x.group_label, x.work_id, x.anchor_title, x.anchor_kind, x.anchor_date, x.metric,
    p.as_of, p.window_days
ORDER BY
    x.group_type ASC NULLS LAST, x.group_key ASC NULLS LAST, x.anchor_date ASC NULLS LAST,
    x.anchor_kind ASC NULLS LAST, x.work_id ASC NULLS LAST, x.metric ASC NULLS LAST
