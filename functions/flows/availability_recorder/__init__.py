"""Queue: records availability, and writes takedowns back to Consonance with an operator alert."""
