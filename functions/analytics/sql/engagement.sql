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
totals AS (
    SELECT d.group_type, d.group_key, d.metric, SUM(d.value) AS total
    FROM group_daily d
    CROSS JOIN params p
    WHERE d.day BETWEEN p.from_day AND p.to_day
    GROUP BY d.group_type, d.group_key, d.metric
),
measures AS (
    SELECT
        group_type, group_key,
        SUM(CASE WHEN metric = 'plays' THEN total ELSE 0 END) AS plays,
        SUM(CASE WHEN metric = 'downloads' THEN total ELSE 0 END) AS downloads,
        SUM(CASE WHEN metric = 'starts' THEN total ELSE 0 END) AS starts,
        SUM(CASE WHEN metric = 'streams' THEN total ELSE 0 END) AS streams,
        SUM(CASE WHEN metric = 'listeners' THEN total ELSE 0 END) AS listener_days,
        SUM(CASE WHEN metric = 'followers_gained' THEN total ELSE 0 END) AS followers_gained,
        SUM(CASE WHEN metric = 'ad_impressions' THEN total ELSE 0 END) AS ad_impressions,
        SUM(CASE WHEN metric = 'ad_clicks' THEN total ELSE 0 END) AS ad_clicks,
        SUM(CASE WHEN metric = 'ad_completes' THEN total ELSE 0 END) AS ad_completes
    FROM totals
    GROUP BY group_type, group_key
),
snapshots AS (
    SELECT
        c.group_type, c.group_key, c.entity_id, c.metric, c.value,
        ROW_NUMBER() OVER (
            PARTITION BY c.group_type, c.group_key, c.entity_id, c.metric ORDER BY c.day DESC NULLS LAST
        ) AS recency
    FROM group_facts c
    CROSS JOIN params p
    WHERE c.entity_type = 'episode'
      AND c.metric IN ('median_completion_pct', 'reached_75_pct')
      AND c.day BETWEEN p.from_day AND p.to_day
),
episode_starts AS (
    SELECT s.group_type, s.group_key, s.entity_id, SUM(s.value) AS starts
    FROM group_facts s
    CROSS JOIN params p
    WHERE s.entity_type = 'episode' AND s.metric = 'starts' AND s.day BETWEEN p.from_day AND p.to_day
    GROUP BY s.group_type, s.group_key, s.entity_id
),
completion AS (
    SELECT
        n.group_type, n.group_key,
        SUM(CASE WHEN n.metric = 'median_completion_pct' THEN n.value * w.starts ELSE 0 END)
            / NULLIF(SUM(CASE WHEN n.metric = 'median_completion_pct' THEN w.starts ELSE 0 END), 0) AS median_completion_pct,
        SUM(CASE WHEN n.metric = 'reached_75_pct' THEN n.value * w.starts ELSE 0 END)
            / NULLIF(SUM(CASE WHEN n.metric = 'reached_75_pct' THEN w.starts ELSE 0 END), 0) AS reached_75_pct
    FROM snapshots n
    JOIN episode_starts w ON w.group_type = n.group_type AND w.group_key = n.group_key AND w.entity_id = n.entity_id
    WHERE n.recency = 1
    GROUP BY n.group_type, n.group_key
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
