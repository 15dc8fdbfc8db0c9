"""Results of the service for supervisors: what is recorded after each turn (`recording`),
the dashboard's figures as pure functions over the database (`figures`), server-side SVG
charts (`charts`), CSV export (`export`) and learning from misses (`misses`, `reviewed`)."""
