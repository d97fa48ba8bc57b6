-- growth: per group and measure, the last 7 days up to to_day against the 7 before them, and the last
-- 28 against the 28 before; growth = (last - prior) / prior, NULL when prior is 0.
-- parameters: to_day DATE
WITH params AS (
    SELECT CAST(? AS DATE) AS to_day
),
aged AS (
    SELECT d.group_type, d.group_key, d.metric, date_diff('day', d.day, p.to_day) AS age_days, d.value
    FROM group_measure_daily d
    CROSS JOIN params p
    WHERE d.day <= p.to_day AND date_diff('day', d.day, p.to_day) < 56
),
windows AS (
    SELECT
        group_type, group_key, metric,
        SUM(CASE WHEN age_days < 7 THEN value ELSE 0 END) AS last_7,
        SUM(CASE WHEN age_days >= 7 AND age_days < 14 THEN value ELSE 0 END) AS prior_7,
        SUM(CASE WHEN age_days < 28 THEN value ELSE 0 END) AS last_28,
        SUM(CASE WHEN age_days >= 28 THEN value ELSE 0 END) AS prior_28
    FROM aged
    GROUP BY group_type, group_key, metric
)
SELECT
    w.group_type, w.group_key, l.group_label, w.metric,
    w.last_7, w.prior_7, (w.last_7 - w.prior_7) / NULLIF(w.prior_7, 0) AS growth_7d,
    w.last_28, w.prior_28, (w.last_28 - w.prior_28) / NULLIF(w.prior_28, 0) AS growth_28d
FROM windows w
JOIN group_label l ON l.group_type = w.group_type AND l.group_key = w.group_key
ORDER BY w.group_type ASC NULLS LAST, w.group_key ASC NULLS LAST, w.metric ASC NULLS LAST
