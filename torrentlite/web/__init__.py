"""The pages people use in a browser, and the report and plugin files served under /output/."""
