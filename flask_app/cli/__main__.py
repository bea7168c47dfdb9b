from flask_app.cli import main

main()
