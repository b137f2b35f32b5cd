# Two commands set everything up on a fresh machine:
#   make plan COMPANY=jinju-bolt     # three Word drafts in out/jinju-bolt/
#   make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
COMPANY ?=

.DEFAULT_GOAL := help
.PHONY: help plan validate context pdf preview cbam-template intake-form intake report program-report monitor calendar hwpx fill all select applications-import applications-scores bench arch test test-fast clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(COMPILE)
	@touch $@

# An editable install leaves pipeline/ uncompiled, and with PYTHONDONTWRITEBYTECODE set every run
# would compile it again (≈ 0.05 s); compiling is what a regular install does. Up to date: a no-op.
COMPILE := $(PY) -m compileall -q pipeline

define need_company
	@if [ -z "$(COMPANY)" ]; then echo "COMPANY=<id> 를 지정하세요 (예: make $(1) COMPANY=jinju-bolt). companies/ 에 있는 id: $$(ls companies | sed -n 's/\.yaml$$//p' | tr '\n' ' ')"; exit 2; fi
endef

plan: $(STAMP)  ## diagnose, match, plan and render one company: make plan COMPANY=<id>
	$(call need_company,plan)
	@$(COMPILE)
	$(PY) -m pipeline plan $(COMPANY)

validate: $(STAMP)  ## check profiles without rendering (all, or COMPANY=<id>)
	$(PY) -m pipeline validate $(COMPANY)

context: $(STAMP)  ## print the enriched context JSON: make context COMPANY=<id>
	$(call need_company,context)
	$(PY) -m pipeline context $(COMPANY)

pdf: $(STAMP)  ## export the three documents to PDF (needs LibreOffice): make pdf COMPANY=<id>
	$(call need_company,pdf)
	$(PY) -m pipeline pdf $(COMPANY)

preview: $(STAMP)  ## PNG pages of the documents (LibreOffice, poppler-utils): make preview COMPANY=<id>
	$(call need_company,preview)
	$(PY) -m pipeline preview $(COMPANY)

hwpx: $(STAMP)  ## 한글(HWPX) copies of the latest revision's documents: make hwpx COMPANY=<id> [DOC=plan]
	$(call need_company,hwpx)
	$(PY) -m pipeline hwpx $(COMPANY) $(if $(DOC),--doc $(DOC))

cbam-template: $(STAMP)  ## fill the EU CBAM communication workbook (xlsx): make cbam-template COMPANY=<id>
	$(call need_company,cbam-template)
	$(PY) -m pipeline cbam-template $(COMPANY)

intake-form: $(STAMP)  ## the Excel 자료요청서 a company fills in (pre-filled with COMPANY=<id>, else blank)
	$(PY) -m pipeline intake-form $(COMPANY)

intake: $(STAMP)  ## a returned 자료요청서 into companies/<id>.yaml: make intake COMPANY=<id> FILE=<xlsx> [ARGS=--dry-run]
	$(call need_company,intake)
	@if [ -z "$(FILE)" ]; then echo "FILE=<돌려받은 자료요청서.xlsx> 를 지정하세요 (예: make intake COMPANY=jinju-bolt FILE=받은파일.xlsx ARGS=--dry-run)"; exit 2; fi
	$(PY) -m pipeline intake $(COMPANY) "$(FILE)" $(ARGS)

report: $(STAMP)  ## the 기업별 최종보고서 from the final (else latest) revision: make report COMPANY=<id>
	$(call need_company,report)
	$(PY) -m pipeline report $(COMPANY)

program-report: $(STAMP)  ## the center's 사업 결과보고서 for the city: out/program-report-<year>.docx [YEAR=2025]
	$(PY) -m pipeline program-report $(if $(YEAR),--year $(YEAR))

monitor: $(STAMP)  ## 성과 모니터링: recorded actuals vs the plan's KPIs: make monitor COMPANY=<id> [YEAR=2026]
	$(call need_company,monitor)
	$(PY) -m pipeline monitor $(COMPANY) $(if $(YEAR),--year $(YEAR))

calendar: $(STAMP)  ## application calls and follow-up dates as .ics: make calendar [COMPANY=<id>]
	$(PY) -m pipeline calendar $(COMPANY)

fill: $(STAMP)  ## fill a program's official form (content/forms/): make fill COMPANY=<id> FORM=<program> [ARGS=--strict]
	$(call need_company,fill)
	@if [ -z "$(FORM)" ]; then echo "FORM=<사업 id> 를 지정하세요 (content/forms/ 의 양식: $$(ls content/forms 2>/dev/null | grep -v README | tr '\n' ' '))"; exit 2; fi
	$(PY) -m pipeline fill $(COMPANY) --form "$(FORM)" $(ARGS)

all: $(STAMP)  ## plan every company in companies/, in parallel
	@$(COMPILE)
	$(PY) -m pipeline all

select: $(STAMP)  ## score the applicants and select the participants
	$(PY) -m pipeline select

applications-import: $(STAMP)  ## an online-form export into applications/<year>/: make applications-import FILE=<csv|xlsx> [YEAR=2025] [ARGS=--dry-run]
	@if [ -z "$(FILE)" ]; then echo "FILE=<신청서 응답 파일.csv 또는 .xlsx> 를 지정하세요 (예: make applications-import FILE=응답.csv YEAR=2025 ARGS=--dry-run)"; exit 2; fi
	$(PY) -m pipeline applications-import "$(FILE)" $(if $(YEAR),--year $(YEAR)) $(ARGS)

applications-scores: $(STAMP)  ## the committee's score sheet into the applications' evaluations: make applications-scores FILE=<csv|xlsx> [YEAR=2025]
	@if [ -z "$(FILE)" ]; then echo "FILE=<평가위원 점수표.csv 또는 .xlsx> 를 지정하세요"; exit 2; fi
	$(PY) -m pipeline applications-scores "$(FILE)" $(if $(YEAR),--year $(YEAR)) $(ARGS)

bench: $(STAMP)  ## speed and memory benchmark (installs hyperfine and GNU time if missing)
	@tools/bench-deps.sh
	@$(COMPILE)
	$(PY) tools/bench.py

arch: $(STAMP)  ## check the layers and import cycles (import-linter contracts in pyproject.toml)
	$(VENV)/bin/lint-imports --no-cache

test: $(STAMP) arch  ## run the architecture check and the whole test suite (LibreOffice tests included)
	$(PY) -m pytest -q

test-fast: $(STAMP) arch  ## run the architecture check and the tests that do not need LibreOffice
	$(PY) -m pytest -q -m "not slow"

clean:  ## remove generated output and the virtual environment (revisions are kept)
	rm -rf out $(VENV) build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
