from lightning_lessons.studies.run import main

main()
