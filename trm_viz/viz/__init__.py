"""Pure functions from a Trace (and its Task) to pictures: PIL images, a GIF, Plotly figures, SVG strings, tables and
the step viewer's JSON. No Gradio here, so everything is testable and usable from the CLI."""
