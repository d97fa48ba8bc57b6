-- view group_label: each group's display name (one per group; see Dimensions.group_rows).
SELECT DISTINCT group_type, group_key, group_label
FROM dim_group
