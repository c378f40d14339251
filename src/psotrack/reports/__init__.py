"""What people read about a patient or a cohort: figures (SVG) for the web pages and reports."""
