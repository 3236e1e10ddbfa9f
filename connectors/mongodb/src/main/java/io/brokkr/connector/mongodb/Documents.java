package io.brokkr.connector.mongodb;

import io.brokkr.api.storage.RecordFormat;
import io.brokkr.api.storage.SinkRecord;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bson.Document;

/**
 * Turns records into the documents the connector inserts: {@code _id} (the record id, always), then the fields of
 * {@link RecordFormat#toMap} in its order without its {@code id}: {@code sender}, {@code user}, {@code topic},
 * {@code payload} (a string, or for {@code format=json} the parsed value: a sub-document, an array, a string, a
 * number or a boolean), {@code payloadEncoding} (only when the payload fell back to another form), {@code qos} (int32),
 * {@code retain}, {@code properties} (a sub-document), {@code time} (int64, epoch milliseconds) and {@code datetime}
 * (a BSON date, the same instant, so that it can be queried and indexed as a date).
 */
final class Documents {

    private Documents() {
    }

    static Document of(SinkRecord record, RecordFormat format) {
        Map<String, Object> fields = format.toMap(record);
        Document d = new Document("_id", record.id());
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            switch (e.getKey()) {
                case "id" -> { } // it is the _id
                case "datetime" -> d.append("datetime", new Date(record.message().timestamp()));
                default -> d.append(e.getKey(), bson(e.getValue()));
            }
        }
        return d;
    }

    static List<Document> of(List<SinkRecord> batch, RecordFormat format) {
        List<Document> docs = new ArrayList<>(batch.size());
        for (SinkRecord r : batch) {
            docs.add(of(r, format));
        }
        return docs;
    }

    /** Maps become (ordered) sub-documents, lists stay lists; strings, numbers, booleans and null map to themselves. */
    private static Object bson(Object value) {
        if (value instanceof Map<?, ?> m) {
            Document sub = new Document();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sub.append(String.valueOf(e.getKey()), bson(e.getValue()));
            }
            return sub;
        }
        if (value instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) {
                out.add(bson(o));
            }
            return out;
        }
        return value;
    }
}
