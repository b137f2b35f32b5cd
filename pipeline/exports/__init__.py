"""Outside formats filled from the context, beside publish/: their layout belongs to someone else.

`cbam_template.py` fills the European Commission's CBAM communication workbook for installations;
`xlsx.py` edits and reads a workbook's sheet XML directly (an openpyxl round trip loses parts of
the official file); `recalc.py` lets LibreOffice Calc recalculate a copy, to check the figures.
"""
