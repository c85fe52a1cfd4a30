"""The bank interface (DESIGN.md §9): signed notifications in, refund instructions out, and a simulator."""
