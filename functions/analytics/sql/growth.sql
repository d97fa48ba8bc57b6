-- growth: per group and measure, the last 7 days up to to_day against the 7 before them, and the last
-- 28 against the 28 before; growth = (last - prior) / prior, NULL when prior is 0.
-- parameters: to_day DATE
WITH params AS (
    SELECT CAST(? AS DATE) AS to_day
),
aged AS (
    SELECT d.group_type, d.group_key, d.group_label, d.metric, date_diff('day', d.day, p.to_day) AS age_days, d.value
    FROM group_daily d
    CROSS JOIN params p
    WHERE d.day <= p.to_day AND date_diff('day', d.day, p.to_day) < 56
),
windows AS (
    SELECT
        group_type, group_key, group_label, metric,
        SUM(CASE WHEN age_days < 7 THEN value ELSE 0 END) AS last_7,
        SUM(CASE WHEN age_days >= 7 AND age_days < 14 THEN value ELSE 0 END) AS prior_7,
        SUM(CASE WHEN age_days < 28 THEN value ELSE 0 END) AS last_28,
        SUM(CASE WHEN age_days >= 28 THEN value ELSE 0 END) AS prior_28
    FROM aged
    GROUP BY group_type, group_key, group_label, metric
)
SELECT
    group_type, group_key, group_label, metric,
    last_7, prior_7, (last_7 - prior_7) / NULLIF(prior_7, 0) AS growth_7d,
    last_28, prior_28, (last_28 - prior_28) / NULLIF(prior_28, 0) AS growth_28d
FROM windows
ORDER BY group_type ASC NULLS LAST, group_key ASC NULLS LAST, metric ASC NULLS LAST
