"""Extract CBAM benchmark and default-value subsets from the Commission informational Excel files.
Run: python tools/extract_cbam_tables.py [folder with benchmarks.xlsx and default_values.xlsx] (needs openpyxl; default ../shared/reference/cbam)
Values are copied unchanged from the Excel cells (no rounding)."""
import csv, hashlib, re, openpyxl, pathlib
REF = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'reference' / 'cbam'
OUT = pathlib.Path(__file__).resolve().parents[1] / 'content' / 'cbam'
REF = pathlib.Path(__import__('sys').argv[1] if len(__import__('sys').argv) > 1 else REF)

def sha(p): return hashlib.sha256(p.read_bytes()).hexdigest()

ROUTES = {'A': 'grey clinker / cement', 'B': 'white clinker / cement',
          'C': 'Carbon steel based on BF/BOF', 'D': 'Carbon steel based on DRI/EAF',
          'E': 'Carbon steel based on scrap/EAF', 'F': 'Low alloy steel based on BF/BOF',
          'G': 'Low alloy steel based on DRI/EAF', 'H': 'Low alloy steel based on scrap/EAF',
          'J': 'High alloy steel (based on EAF)', 'K': 'primary aluminium', 'L': 'secondary aluminium'}
YEARS = {'1': '2026-2027', '2': '2028-2030'}

def parse_ind(ind):
    """'(F)(1)' -> ('F', '1'); '(2)' -> ('', '2'); None -> ('', '')"""
    if not ind: return '', ''
    letters = re.findall(r'\(([A-Z])\)', ind); nums = re.findall(r'\((\d)\)', ind)
    return (letters[0] if letters else ''), (nums[0] if nums else '')

# ---------------- benchmarks ----------------
BM_PREFIXES = ('731815', '731816', '7318', '732619', '732690', '7326', '7213', '7227',
               '760410', '760429', '7604', '761699', '7601')
wb = openpyxl.load_workbook(REF / 'benchmarks.xlsx', read_only=True, data_only=True)
rows = list(wb['Benchmarks'].iter_rows(values_only=True))
cur = desc = None; out = []
for i, r in enumerate(rows, 1):
    if i == 1: continue
    if isinstance(r[0], int): cur, desc = str(r[0]), r[1]
    elif r[0] is not None: cur = None; continue   # sector header row
    if not cur: continue
    for col, (bm, ind) in (('A', (r[2], r[3])), ('B', (r[4], r[5]))):
        pass
    ra, ya = parse_ind(r[3]); rb, yb = parse_ind(r[5])
    out.append({'cn_code': cur, 'cn_description': desc,
                'column_a_bm_tco2e_per_t': '' if r[2] is None else r[2],
                'column_a_indicator': r[3] or '', 'column_a_route': ROUTES.get(ra, ''), 'column_a_production_years': YEARS.get(ya, ''),
                'column_b_bm_tco2e_per_t': '' if r[4] is None else r[4],
                'column_b_indicator': r[5] or '', 'column_b_route': ROUTES.get(rb, ''), 'column_b_production_years': YEARS.get(yb, ''),
                'source_row': i})
with open(OUT / 'benchmarks.csv', 'w', newline='') as f:
    f.write('# CBAM benchmarks (all CN codes). Source: Commission informational Excel "benchmarks.xlsx" v1 (sheet Benchmarks), '
            'based on Implementing Regulation (EU) 2025/2620 Annex point 5.3; sha256=%s. Column A = BMg* process-related benchmark, '
            'used with ACTUAL data (Annex pt 3.1, Eq. 2); Column B = BMg default benchmark, used when DEFAULT values are declared '
            '(Annex pt 4, Art. 3) and for precursors whose SEFA is not provided by the producer (pt 3.3(2)). A single Column A value '
            'per CN code (continuation rows blank) is not route-specific - reading of the OJ table layout, not a quoted rule. '
            'Indicators per Annex pt 5.3; (1)/(2) = production years 2026-27 / 2028-30.\n' % sha(REF / 'benchmarks.xlsx'))
    w = csv.DictWriter(f, fieldnames=list(out[0])); w.writeheader(); w.writerows(out)
print('benchmarks rows', len(out))

# ---------------- default values ----------------
COUNTRIES = {'South Korea': 'South Korea', 'China': 'China', 'Japan': 'Japan',
             '_Other Countries and Territorie': 'Other countries and territories'}
wb = openpyxl.load_workbook(REF / 'default_values.xlsx', read_only=True, data_only=True)
dv = []; anomalies = []
for sheet, cname in COUNTRIES.items():
    sector = None
    for i, r in enumerate(wb[sheet].iter_rows(values_only=True), 1):
        if i <= 2: continue
        code, d = r[0], r[1]
        if code is not None and d is None and isinstance(code, str) and not code[0].isdigit():
            sector = code; continue
        if code is None: continue
        raw = str(code).strip(); digits = re.sub(r'\D', '', raw)
        if not digits: continue
        def val(x): return '' if x is None else x
        rec = {'country': cname, 'cn_code': digits, 'cn_code_as_printed': raw, 'description': d, 'sector': sector,
               'direct': val(r[2]), 'indirect': val(r[3]), 'total': val(r[4]),
               'value_2026': val(r[5]), 'value_2027': val(r[6]), 'value_2028': val(r[7]),
               'route': (r[8] or '').strip() if isinstance(r[8], str) else val(r[8]),
               'source_sheet': sheet, 'source_row': i}
        # check mark-up rule on total
        if all(isinstance(rec[k], (int, float)) for k in ('total', 'value_2026', 'value_2027', 'value_2028')):
            for k, m in (('value_2026', 1.1), ('value_2027', 1.2), ('value_2028', 1.3)):
                if abs(rec[k] - rec['total'] * m) > 1e-9:
                    anomalies.append((cname, raw, k, rec[k], rec['total'] * m))
        dv.append(rec)
with open(OUT / 'default_values.csv', 'w', newline='') as f:
    f.write('# EU CBAM default values (tCO2e/t), all sectors, copied unchanged from the Commission informational Excel '
            '"default_values.xlsx" v1 of 2026-02-04 (based on Implementing Regulation (EU) 2025/2621, Annex I); sha256=%s. '
            'value_2026/2027/2028 are the Excel columns "20xx Default Value (including mark-up)" (2028 = "2028 and onwards"). '
            '"see below" = heading row whose values are given on the subheading rows; "N/A" = indirect not applicable (Annex II good); '
            '"–" = no country value -> use the "Other countries and territories" table. WARNING: Annex I of 2025/2621 was replaced by '
            'Implementing Regulation (EU) 2026/1740 (OJ 31.7.2026, retroactive 1.1.2026; per secondary sources) and a v2 Excel '
            '(2026-08-06) exists; these v1 values were NOT re-checked against it.\n' % sha(REF / 'default_values.xlsx'))
    w = csv.DictWriter(f, fieldnames=list(dv[0])); w.writeheader(); w.writerows(dv)
print('default rows', len(dv), 'markup anomalies', len(anomalies))
for a in anomalies[:20]: print("  ", a)
