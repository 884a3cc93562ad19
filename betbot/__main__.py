from betbot.cli import main

main()
