"""HTTP surfaces (routers) through which users and services reach the conversation hub."""
