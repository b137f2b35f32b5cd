from pipeline.commands import main

main()
