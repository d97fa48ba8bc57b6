-- view group_measure_daily: group_daily in long form, one row per group, day and measure, for the
-- rollups that report measure by measure (growth, launch comparison, launch curve).
SELECT
    d.group_type, d.group_key, d.day, m.metric,
    CASE m.metric
        WHEN 'plays' THEN d.plays
        WHEN 'downloads' THEN d.downloads
        WHEN 'starts' THEN d.starts
        WHEN 'streams' THEN d.streams
        WHEN 'listeners' THEN d.listeners
        WHEN 'followers_gained' THEN d.followers_gained
        WHEN 'ad_impressions' THEN d.ad_impressions
        WHEN 'ad_clicks' THEN d.ad_clicks
    END AS value
FROM group_daily d
CROSS JOIN (
    VALUES ('plays'), ('downloads'), ('starts'), ('streams'), ('listeners'), ('followers_gained'), ('ad_impressions'), ('ad_clicks')
) AS m (metric)
