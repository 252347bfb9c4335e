"""The parcel and letter register and the item register (R19): what arrived for whom and
who collected it with which pickup code; what was lent or handed out, to whom, due back
when, returned when."""
