-- The per-bid transaction baseline (benchmarks/bidding.py): one hot book row and a
-- ledger of bids, made in a scratch database.
CREATE TABLE book (
    id integer PRIMARY KEY,
    price bigint NOT NULL,
    version bigint NOT NULL
);
CREATE TABLE bids (
    id bigserial PRIMARY KEY,
    book_id integer NOT NULL,
    amount bigint NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO book (id, price, version) VALUES (1, 0, 0);
