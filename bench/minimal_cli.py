"""The floor of `lamp spec validate` in bench/run.py: the least a Typer CLI that checks YAML files
with pydantic does (parse its arguments, load each file, validate it with a two-field model,
print a line), so the report can tell what any such CLI costs from what lamp adds to it.

    minimal_cli.py FILE...
"""

from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import BaseModel, ConfigDict

app = typer.Typer()


class Document(BaseModel):
    model_config = ConfigDict(extra="allow")
    apiVersion: str
    kind: str


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument()]) -> None:
    for path in paths:
        document = Document.model_validate(yaml.safe_load(path.read_text()))
        print(f"valid {path} ({document.kind})")


if __name__ == "__main__":
    app()
