"""The console: the built-in web chat (a chat platform like WeCom), its login gate, the office's
dashboard, the printable forms and the monthly report page, all under ``/console``."""
