"""CDISC files: the shipped controlled terminology, the dataset writers (SAS XPORT v5, Dataset-JSON
1.1, CSV) and Define-XML 2.1 (issue 16)."""
