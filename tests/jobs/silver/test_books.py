import pytest

from jobs.silver.pipeline import Books, UnbalancedBooks, check_books


def test_balanced_books_pass():
    check_books(Books("r1", "orders", "silver.orders", 10, 7, 2, 1))


def test_unbalanced_books_fail_the_run_with_the_numbers():
    books = Books("silver_2025-03-01", "orders", "silver.orders", 10, 7, 2, 0)
    assert not books.balanced
    with pytest.raises(UnbalancedBooks, match=r"^orders -> silver.orders, run silver_2025-03-01: 10 rows in "
                                              r"but 7 to silver \+ 2 quarantined \+ 0 duplicates removed$"):
        check_books(books)
