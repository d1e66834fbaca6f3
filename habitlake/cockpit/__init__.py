"""The management cockpit (a Dash app over the gold tables) and the static daily report.

- `data`: gold Delta tables read with delta-rs (no JVM), cached by table version;
- `metrics`: what is shown, as pure pandas functions of gold rows and the filters;
- `figures`: Plotly figures of those metrics (shared by the app and the report);
- `pages`: the pages of the app; `app`: the Dash app and its server; `report`: the HTML report.
"""
