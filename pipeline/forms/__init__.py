"""Official application forms (사업계획서 양식) filled from the plan, with only the answer areas changed.

`formmap.py` reads a form folder (content/forms/<program>/<year>/: the form, source.yaml, map.yaml);
`package.py` reads the form's zip and XML defensively and writes it back part for part;
`areas.py` finds the answer areas (a cell beside its label, the paragraphs after a marker, a
누름틀 / content control) with the format's side in `docx.py` and `hwpx.py`; `answers.py` turns
plan sections and context fields into lines; `fill.py` fills; `proof.py` proves that every part
and element outside the answer areas is the form's own. A .hwp (HWP 5.0 binary) form is refused
with the way to convert it.
"""
