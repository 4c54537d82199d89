-- One bid, one transaction: a conditional update of the hot row and a ledger insert.
-- :p stays above the price, so every transaction takes the row lock and writes.
\set p 1000000000000
BEGIN;
UPDATE book SET price = price + 1, version = version + 1 WHERE id = 1 AND price < :p;
INSERT INTO bids (book_id, amount) VALUES (1, :p);
END;
