from lamp_cli.main import run

run()
