-- view entity_daily: one row per source entity (episode, show, campaign) and day with its whole-
-- audience measures side by side, each read only at the level where it belongs: listening from
-- episodes (a show's own starts/streams/listeners would count its episodes twice), followers from
-- shows, paid delivery from campaigns. Snapshots (completion) are carried as read that day.
SELECT
    source, entity_type, entity_id, "date" AS day,
    SUM(CASE WHEN metric = 'downloads' AND entity_type = 'episode' THEN value ELSE 0 END) AS downloads,
    SUM(CASE WHEN metric = 'starts' AND entity_type = 'episode' THEN value ELSE 0 END) AS starts,
    SUM(CASE WHEN metric = 'streams' AND entity_type = 'episode' THEN value ELSE 0 END) AS streams,
    SUM(CASE WHEN metric = 'listeners' AND entity_type = 'episode' THEN value ELSE 0 END) AS listeners,
    SUM(CASE WHEN metric = 'followers_gained' AND entity_type = 'show' THEN value ELSE 0 END) AS followers_gained,
    SUM(CASE WHEN metric = 'ad_impressions' AND entity_type = 'campaign' THEN value ELSE 0 END) AS ad_impressions,
    SUM(CASE WHEN metric = 'ad_reach' AND entity_type = 'campaign' THEN value ELSE 0 END) AS ad_reach,
    SUM(CASE WHEN metric = 'ad_clicks' AND entity_type = 'campaign' THEN value ELSE 0 END) AS ad_clicks,
    SUM(CASE WHEN metric = 'ad_completes' AND entity_type = 'campaign' THEN value ELSE 0 END) AS ad_completes,
    MAX(CASE WHEN metric = 'median_completion_pct' AND entity_type = 'episode' THEN value END) AS median_completion_pct,
    MAX(CASE WHEN metric = 'reached_75_pct' AND entity_type = 'episode' THEN value END) AS reached_75_pct
FROM facts
WHERE dimension = 'total'
GROUP BY source, entity_type, entity_id, "date"
