from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401
