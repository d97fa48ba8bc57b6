-- engagement: per group over [from_day, to_day]: plays, downloads, starts, streams, listener-days,
-- followers gained, paid ad delivery, and completion. Completion is each episode's latest snapshot in
-- the window (Spotify's all-time curve), averaged over the group's episodes weighted by their starts
-- in the window: median completion (% of the episode) and the share of starts reaching 75 %.
-- parameters: from_day DATE, to_day DATE
WITH params AS (
    SELECT CAST(? AS DATE) AS from_day, CAST(? AS DATE) AS to_day
),
groups AS (
    SELECT group_type, group_key, group_label, COUNT(DISTINCT product_id) AS episodes
    FROM dim_group
    GROUP BY group_type, group_key, group_label
),
entity_window AS (
    SELECT e.*
    FROM entity_daily e
    CROSS JOIN params p
    WHERE e.day BETWEEN p.from_day AND p.to_day
),
entity_totals AS (
    SELECT
        source, entity_type, entity_id,
        SUM(downloads + starts) AS plays, SUM(downloads) AS downloads, SUM(starts) AS starts, SUM(streams) AS streams,
        SUM(listeners) AS listener_days, SUM(followers_gained) AS followers_gained,
        SUM(ad_impressions) AS ad_impressions, SUM(ad_clicks) AS ad_clicks, SUM(ad_completes) AS ad_completes
    FROM entity_window
    GROUP BY source, entity_type, entity_id
),
snapshots AS (
    SELECT
        source, entity_type, entity_id, median_completion_pct, reached_75_pct,
        ROW_NUMBER() OVER (PARTITION BY source, entity_type, entity_id ORDER BY day DESC NULLS LAST) AS recency
    FROM entity_window
    WHERE entity_type = 'episode' AND (median_completion_pct IS NOT NULL OR reached_75_pct IS NOT NULL)
),
measures AS (
    SELECT
        eg.group_type, eg.group_key,
        SUM(t.plays) AS plays, SUM(t.downloads) AS downloads, SUM(t.starts) AS starts, SUM(t.streams) AS streams,
        SUM(t.listener_days) AS listener_days, SUM(t.followers_gained) AS followers_gained,
        SUM(t.ad_impressions) AS ad_impressions, SUM(t.ad_clicks) AS ad_clicks, SUM(t.ad_completes) AS ad_completes
    FROM entity_totals t
    JOIN entity_group eg ON eg.source = t.source AND eg.entity_type = t.entity_type AND eg.entity_id = t.entity_id
    GROUP BY eg.group_type, eg.group_key
),
completion AS (
    SELECT
        eg.group_type, eg.group_key,
        SUM(CASE WHEN n.median_completion_pct IS NOT NULL THEN n.median_completion_pct * t.starts ELSE 0 END)
            / NULLIF(SUM(CASE WHEN n.median_completion_pct IS NOT NULL THEN t.starts ELSE 0 END), 0) AS median_completion_pct,
        SUM(CASE WHEN n.reached_75_pct IS NOT NULL THEN n.reached_75_pct * t.starts ELSE 0 END)
            / NULLIF(SUM(CASE WHEN n.reached_75_pct IS NOT NULL THEN t.starts ELSE 0 END), 0) AS reached_75_pct
    FROM snapshots n
    JOIN entity_totals t ON t.source = n.source AND t.entity_type = n.entity_type AND t.entity_id = n.entity_id
    JOIN entity_group eg ON eg.source = n.source AND eg.entity_type = n.entity_type AND eg.entity_id = n.entity_id
    WHERE n.recency = 1
    GROUP BY eg.group_type, eg.group_key
)
SELECT
    g.group_type, g.group_key, g.group_label, g.episodes,
    COALESCE(m.plays, 0) AS plays,
    COALESCE(m.downloads, 0) AS downloads,
    COALESCE(m.starts, 0) AS starts,
    COALESCE(m.streams, 0) AS streams,
    COALESCE(m.listener_days, 0) AS listener_days,
    COALESCE(m.followers_gained, 0) AS followers_gained,
    COALESCE(m.ad_impressions, 0) AS ad_impressions,
    COALESCE(m.ad_clicks, 0) AS ad_clicks,
    COALESCE(m.ad_completes, 0) AS ad_completes,
    c.median_completion_pct,
    c.reached_75_pct
FROM groups g
LEFT JOIN measures m ON m.group_type = g.group_type AND m.group_key = g.group_key
LEFT JOIN completion c ON c.group_type = g.group_type AND c.group_key = g.group_key
ORDER BY g.group_type ASC NULLS LAST, g.group_key ASC NULLS LAST
