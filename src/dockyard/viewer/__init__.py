"""The dataset viewer: background steps turn a dataset revision into Parquet, sizes, statistics
and a search index; the viewer API and the dataset page read their cached results."""
