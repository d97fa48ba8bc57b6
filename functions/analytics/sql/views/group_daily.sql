-- view group_daily: each group's additive measures per day. plays = Megaphone downloads (apps other
-- than Spotify, which caches audio once) + Spotify starts: the audience across platforms.
SELECT
    group_type, group_key, day,
    SUM(downloads + starts) AS plays,
    SUM(downloads) AS downloads,
    SUM(starts) AS starts,
    SUM(streams) AS streams,
    SUM(listeners) AS listeners,
    SUM(followers_gained) AS followers_gained,
    SUM(ad_impressions) AS ad_impressions,
    SUM(ad_reach) AS ad_reach,
    SUM(ad_clicks) AS ad_clicks,
    SUM(ad_completes) AS ad_completes
FROM group_entity_daily
GROUP BY group_type, group_key, day
