from lamp_cli.main import run as main

main()
