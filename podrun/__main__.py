from podrun.cli.main import main

main()
