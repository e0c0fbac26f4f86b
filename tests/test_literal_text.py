"""Review text is drawn as typed in every kind of figure: matplotlib's mathtext markup
(``$...$``, backslashes) in a study's label or an outcome's label is text, never mathematics
(nor an error of the figures job).

The tables of a small review (eight two-group studies, ``tests/test_faults.py``) are made by
the stage functions and read back as the workflow reads them; each kind of figure is drawn
with the labels holding the markup and saved as SVG, whose text must hold it verbatim. The
risk-of-bias, r-sensitivity and PRISMA figures are checked on a workflow run in
``tests/test_injection.py``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from test_faults import OUTCOME, write_review

from scimeta import stages
from scimeta.compare import build_effects
from scimeta.extract import build_arms
from scimeta.figures import draw_figure
from scimeta.io import read_review, write_csv
from scimeta.plotting import save_figure
from scimeta.robustness import cumulative_table, gosh_part, gosh_tables
from scimeta.workflow import restrict_review

MATH = r"($5 vs $10, $\alpha^2$ \beta)"
ITEMS = [dict(kind="forest", var=""), dict(kind="subgroup_forest", var="level"),
         dict(kind="funnel", var=""), dict(kind="bubble", var="year"),
         dict(kind="gosh", var=""), dict(kind="cumulative", var="")]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    root = tmp_path_factory.mktemp("literal")
    review = read_review(write_review(root / "review"))
    cfg = review.config
    one = restrict_review(review, OUTCOME)
    arms, _ = build_arms(one)
    effects, _ = build_effects(arms, one.studies, one.config)
    effects["label"] = MATH + " " + effects["label"]
    pools = stages.pools(effects, review.studies, analysis=cfg["analysis"],
                         subgroups=cfg["subgroups"], populations=cfg["populations"],
                         permutations=0, seed=cfg["seed"])
    membership = pools["membership"]
    tables = {"effects": effects, **pools,
              **stages.bias(effects, membership, analysis=cfg["analysis"]),
              "sensitivity": pd.DataFrame(),
              "metareg": stages.metareg(effects, review.studies, membership,
                                        analysis=cfg["analysis"], moderators=cfg["moderators"],
                                        permutations=0, seed=cfg["seed"])}
    part = gosh_part(effects, membership, outcome=OUTCOME, analysis=cfg["analysis"],
                     gosh_config=cfg["gosh"], seed=cfg["seed"], part=0, parts=1)
    gosh = gosh_tables([part], effects, membership, outcome=OUTCOME, analysis=cfg["analysis"],
                       gosh_config=cfg["gosh"], file="gosh.csv")
    tables.update(gosh=gosh["gosh"], gosh_influence=gosh["influence"],
                  cumulative=cumulative_table(effects, membership, review.studies,
                                              outcome=OUTCOME, analysis=cfg["analysis"],
                                              order_by="year"))
    read = {}
    for name, table in tables.items():  # as the figures job reads them
        if table.empty:
            read[name] = table
            continue
        write_csv(table, root / f"{name}.csv")
        read[name] = pd.read_csv(root / f"{name}.csv",
                                 dtype={"studies": str, "study": str, "study_id": str})
    read = {k: v for k, v in read.items() if k not in ("leave1out", "influence")}
    out = {}
    for item in ITEMS:
        item = {**item, "comparison": "between_arms", "measure": "MD", "stem": item["kind"]}
        result = draw_figure(item, outcome=OUTCOME,
                             outcome_config={**cfg["outcomes"][OUTCOME], "label": MATH},
                             analysis=cfg["analysis"], layout="revman", studies=review.studies,
                             populations=cfg["populations"], max_forest_rows=100,
                             figures=cfg["figures"], **read)
        save_figure(result, root / item["kind"], ["svg"])
        out[item["kind"]] = (result, root / f"{item['kind']}.svg")
    return out


@pytest.mark.parametrize("kind", [item["kind"] for item in ITEMS])
def test_labels_with_mathtext_markup_are_drawn_as_typed(drawn, kind):
    from matplotlib.text import Text

    result, svg = drawn[kind]
    assert not result.meta.get("placeholder"), result.data.iloc[0].tolist()
    # every text artist holding the markup (titles, study labels, annotations, legends)
    # is drawn literally ...
    marked = [t for t in result.figure.findobj(Text) if MATH in t.get_text()]
    assert marked
    for text in marked:
        assert not text.get_parse_math(), f"{kind}: {text.get_text()!r} is parsed as mathtext"
    # ... and the SVG holds each of them verbatim
    root = ET.parse(svg).getroot()
    texts = ["".join(el.itertext()) for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "text"]
    assert sum(MATH in t for t in texts) >= len({id(t) for t in marked if t.get_visible()})
