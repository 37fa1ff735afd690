package loader

import (
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/apache/iceberg-go"
)

// fits reports whether the Parquet column p holds values of the Iceberg
// type t exactly as Iceberg's Parquet mapping stores them, so that its
// pages may be copied under t: the physical type t maps to, and a
// logical type that reads the same values (INT32 annotated as a narrower
// or 16-bit unsigned integer is still an int, a legacy TIMESTAMP_MICROS a
// UTC timestamp). Anything else is re-encoded.
func fits(p *schema.PrimitiveNode, t iceberg.Type) bool {
	lt, phys := p.LogicalType(), p.PhysicalType()
	switch t := t.(type) {
	case iceberg.BooleanType:
		return phys == parquet.Types.Boolean && noLogical(lt)
	case iceberg.Int32Type:
		return phys == parquet.Types.Int32 && (noLogical(lt) || isInt(lt, 32, true) || isInt(lt, 16, false))
	case iceberg.Int64Type:
		return phys == parquet.Types.Int64 && (noLogical(lt) || isInt(lt, 64, true))
	case iceberg.Float32Type:
		return phys == parquet.Types.Float && noLogical(lt)
	case iceberg.Float64Type:
		return phys == parquet.Types.Double && noLogical(lt)
	case iceberg.StringType:
		_, ok := lt.(schema.StringLogicalType)
		return phys == parquet.Types.ByteArray && ok
	case iceberg.BinaryType:
		return phys == parquet.Types.ByteArray && noLogical(lt)
	case iceberg.FixedType:
		return phys == parquet.Types.FixedLenByteArray && p.TypeLength() == t.Len() && noLogical(lt)
	case iceberg.UUIDType:
		_, ok := lt.(schema.UUIDLogicalType)
		return phys == parquet.Types.FixedLenByteArray && p.TypeLength() == 16 && ok
	case iceberg.DateType:
		_, ok := lt.(schema.DateLogicalType)
		return phys == parquet.Types.Int32 && ok
	case iceberg.DecimalType:
		return fitsDecimal(p, t)
	}
	return fitsTime(p, t)
}

// isInt reports whether lt is an integer annotation of at most bits bits
// and the given signedness.
func isInt(lt schema.LogicalType, bits int8, signed bool) bool {
	it, ok := lt.(schema.IntLogicalType)
	return ok && it.BitWidth() <= bits && it.IsSigned() == signed
}

// fitsDecimal: a decimal of the same precision and scale, on INT32, INT64
// or at most 16 fixed bytes.
func fitsDecimal(p *schema.PrimitiveNode, t iceberg.DecimalType) bool {
	dt, ok := p.LogicalType().(schema.DecimalLogicalType)
	if !ok || int(dt.Precision()) != t.Precision() || int(dt.Scale()) != t.Scale() {
		return false
	}
	switch p.PhysicalType() {
	case parquet.Types.Int32, parquet.Types.Int64:
		return true
	case parquet.Types.FixedLenByteArray:
		return p.TypeLength() <= 16
	}
	return false
}

// fitsTime: microsecond times and timestamps on INT64, UTC-adjusted
// exactly when t is a timestamptz.
func fitsTime(p *schema.PrimitiveNode, t iceberg.Type) bool {
	if p.PhysicalType() != parquet.Types.Int64 {
		return false
	}
	switch lt := p.LogicalType().(type) {
	case schema.TimeLogicalType:
		return t.Equals(iceberg.PrimitiveTypes.Time) && lt.TimeUnit() == schema.TimeUnitMicros
	case schema.TimestampLogicalType:
		if lt.TimeUnit() != schema.TimeUnitMicros {
			return false
		}
		if lt.IsAdjustedToUTC() {
			return t.Equals(iceberg.PrimitiveTypes.TimestampTz)
		}
		return t.Equals(iceberg.PrimitiveTypes.Timestamp)
	}
	return false
}

// logicalFor is the logical type Iceberg's Parquet mapping gives t.
func logicalFor(t iceberg.Type) schema.LogicalType {
	switch t := t.(type) {
	case iceberg.StringType:
		return schema.StringLogicalType{}
	case iceberg.UUIDType:
		return schema.UUIDLogicalType{}
	case iceberg.DateType:
		return schema.DateLogicalType{}
	case iceberg.TimeType:
		return schema.NewTimeLogicalType(false, schema.TimeUnitMicros)
	case iceberg.TimestampType:
		return schema.NewTimestampLogicalType(false, schema.TimeUnitMicros)
	case iceberg.TimestampTzType:
		return schema.NewTimestampLogicalType(true, schema.TimeUnitMicros)
	case iceberg.DecimalType:
		return schema.NewDecimalLogicalType(int32(t.Precision()), int32(t.Scale()))
	}
	return schema.NoLogicalType{}
}
