from pathlib import Path

from xcorpus.feature_map import PanelSpec, panel
from xcorpus.plots import feature_map
from xcorpus.runlog import logged

with logged(snakemake.log[0]):
    per_corpus = snakemake.params.per_corpus
    panels = [panel(PanelSpec.of(c), per_corpus) for c in snakemake.params.panels]
    feature_map(panels, snakemake.wildcards.features, Path(snakemake.output[0]))
