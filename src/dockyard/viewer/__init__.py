"""The dataset viewer: background steps turn a dataset revision into Parquet, sizes, statistics
and a search index; the viewer API and the dataset page read their cached results."""

#: The job that runs the steps for one dataset revision (declared in :mod:`dockyard.viewer.jobs`;
#: named here so that the commit pipeline enqueues it without importing the steps).
PROCESS_JOB = "viewer.process"
