"""Disease risk forecasts from what the record holds: SCORE2, FINDRISC and Framingham 2008, with the inputs each
figure came from, so that a doctor acts before the disease does."""
