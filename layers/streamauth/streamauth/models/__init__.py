"""Typed input and output of the API: parsing raises BadRequest naming the field."""
