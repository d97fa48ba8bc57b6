"""Marketing: title milestones (pre-order, publication, backlist promotion) become Spotify Ads campaign
drafts for the right audience, with a campaign brief a person reads and approves.

- `milestones`: the rule set (data) deciding when a title enters each milestone;
- `targeting`: the lookup table (data) from subjects and audience codes to Ads targeting;
- `ad_copy`: advertiser name and tagline, derived and held to the Ads API's limits;
- `plan`: the campaign, ad sets and ads a milestone asks for (pure: no I/O);
- `brief`: the campaign brief (Markdown for people, JSON for machines);
- `creatives`: the audio spot and the companion image checked (and the image made square) before upload;
- `config`: all of it configured in one validated model (`MARKETING`, CDK context `marketing`).
"""
