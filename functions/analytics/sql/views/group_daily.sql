-- view group_daily: each group's additive measures per day (snapshots such as completion and the
-- follower level are left out: they are read, not summed). 'plays' = Megaphone downloads (all apps
-- other than Spotify, which caches audio once) + Spotify starts: the audience across platforms.
SELECT group_type, group_key, group_label, metric, day, SUM(value) AS value
FROM group_facts
WHERE metric IN (
    'downloads', 'starts', 'streams', 'listeners', 'followers_gained',
    'ad_impressions', 'ad_reach', 'ad_listeners', 'ad_new_listeners', 'ad_streams', 'ad_clicks',
    'ad_completes', 'ad_first_quartiles', 'ad_midpoints', 'ad_third_quartiles'
)
GROUP BY group_type, group_key, group_label, metric, day
UNION ALL
SELECT group_type, group_key, group_label, 'plays' AS metric, day, SUM(value) AS value
FROM group_facts
WHERE metric IN ('downloads', 'starts')
GROUP BY group_type, group_key, group_label, day
