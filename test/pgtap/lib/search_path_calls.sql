-- test/pgtap/lib/search_path_calls.sql: included (\ir) twice by
-- search_path.sql, with :sp_path (the hostile search_path) and :sp_label
-- (the name of the run).  Every convexlite entry point, as the superuser,
-- through regress_sp_tools.try; only qualified names of its own.
SELECT pg_catalog.set_config('convexlite.user_id', :'sp_user', true) \g /dev/null
SELECT pg_catalog.set_config('search_path', :'sp_path', true) \g /dev/null

-- the seed's mutations
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'messages.send',
    $$SELECT convex_messages_send('{"roomId": "sp", "content": "kept", "userName": "u", "sessionId": "sp-tab"}')$$), 'missing') AS sp_m1 \gset
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'messages.send (to remove)',
    $$SELECT convex_messages_send('{"roomId": "sp", "content": "gone", "userName": "u", "sessionId": "sp-tab"}')$$), 'missing') AS sp_m2 \gset
SELECT regress_sp_tools.try(:'sp_label', 'messages.remove',
    pg_catalog.format('SELECT ''ok'' FROM convex_messages_remove(%L)', pg_catalog.json_build_object('messageId', :'sp_m2', 'sessionId', 'sp-tab'))) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'presence.update',
    $$SELECT 'ok' FROM convex_presence_update('{"roomId": "sp", "sessionId": "sp-tab", "data": {"status": "a"}}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'presence.update (heartbeat)',
    $$SELECT 'ok' FROM convex_presence_update('{"roomId": "sp", "sessionId": "sp-tab", "data": {"status": "b"}}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'presence.update (by user)',
    $$SELECT 'ok' FROM convex_presence_update('{"roomId": "sp-user", "data": {"status": "c"}}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'presence.leave',
    $$SELECT 'ok' FROM convex_presence_leave('{"roomId": "sp", "sessionId": "sp-tab"}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'presence.leave (by user)',
    $$SELECT 'ok' FROM convex_presence_leave('{"roomId": "sp-user"}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'presence.cleanup', 'SELECT convex_presence_cleanup()') \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'users.updateProfile',
    pg_catalog.format('SELECT ''ok'' FROM convex_users_update_profile(%L)', pg_catalog.json_build_object('name', pg_catalog.concat('Sp ', :'sp_label')))) \g /dev/null

-- files and storage
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'files.generateUploadUrl', 'SELECT convex_files_generate_upload_url()'), 'missing') AS sp_url \gset
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'storage upload',
    pg_catalog.format('SELECT convex_storage_upload(%L, %L::pg_catalog.bytea, %L) OPERATOR(pg_catalog.->>) %L',
                      :'sp_url', 'sp bytes', 'text/plain', 'storageId')), 'missing') AS sp_sid \gset
SELECT regress_sp_tools.try(:'sp_label', 'storage upload (a used URL is refused, 55000)',
    pg_catalog.format('SELECT convex_storage_upload(%L, %L::pg_catalog.bytea)', :'sp_url', 'again'), '55000') \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'storage get', pg_catalog.format('SELECT convex_storage_get(%L)', :'sp_sid')) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'storage getUrl', pg_catalog.format('SELECT convex_storage_get_url(%L)', :'sp_sid')) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'storage getMetadata', pg_catalog.format('SELECT convex_storage_get_metadata(%L)', :'sp_sid')) \g /dev/null
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'files.saveFile',
    pg_catalog.format('SELECT convex_files_save_file(%L)',
        pg_catalog.json_build_object('storageId', :'sp_sid', 'name', 'n', 'type', 't', 'size', 8, 'sessionId', 'sp-tab'))), 'missing') AS sp_file \gset
SELECT regress_sp_tools.try(:'sp_label', 'files.remove',
    pg_catalog.format('SELECT ''ok'' FROM convex_files_remove(%L)', pg_catalog.json_build_object('fileId', :'sp_file', 'sessionId', 'sp-tab'))) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'storage delete',
    'SELECT ''ok'' FROM convex_storage_delete(convex_storage_upload(convex_storage_generate_upload_url(), ''x''::pg_catalog.bytea) OPERATOR(pg_catalog.->>) ''storageId'')') \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'storage cleanup', 'SELECT convex_storage_cleanup(0)') \g /dev/null

-- ctx.db on an application table, and its definition
SELECT regress_sp_tools.try(:'sp_label', 'define_table (alter)',
    $$SELECT 'ok' FROM convex_define_table('sp_notes', '{"tag": {"fieldType": {"type": "string"}, "optional": false},
        "n": {"fieldType": {"type": "number"}, "optional": true}, "extra": {"fieldType": {"type": "boolean"}, "optional": true}}',
        '{"by_tag": ["tag"], "by_n": ["n"]}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'table_notify', $$SELECT 'ok' FROM convex_table_notify('sp_notes', ARRAY['tag'])$$) \g /dev/null
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'ctx.db insert', $$SELECT convex_db_insert('sp_notes', '{"tag": "t", "n": 1}')$$), 'missing') AS sp_note \gset
SELECT regress_sp_tools.try(:'sp_label', 'ctx.db get', pg_catalog.format('SELECT convex_db_get(%L, %L)', 'sp_notes', :'sp_note')) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'ctx.db patch', pg_catalog.format('SELECT ''ok'' FROM convex_db_patch(%L, %L, %L)', 'sp_notes', :'sp_note', '{"n": 2}')) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'ctx.db replace', pg_catalog.format('SELECT ''ok'' FROM convex_db_replace(%L, %L, %L)', 'sp_notes', :'sp_note', '{"tag": "t", "n": 3}')) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'ctx.db query (eq and range)',
    $$SELECT count(*)::pg_catalog.text FROM convex_db_query('sp_notes', 'by_n', '{}', 'desc', '{"gte": 0, "lt": 10}', 5)$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'ctx.db query (by index)',
    $$SELECT count(*)::pg_catalog.text FROM convex_db_query('sp_notes', 'by_tag', '{"tag": "t"}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'ctx.db delete', pg_catalog.format('SELECT ''ok'' FROM convex_db_delete(%L, %L)', 'sp_notes', :'sp_note')) \g /dev/null

-- registered mutations and the scheduler
SELECT regress_sp_tools.try(:'sp_label', 'define_mutation',
    $$SELECT 'ok' FROM convex_define_mutation('sp:note2', 'regress_sp_tools.note(pg_catalog.jsonb)', '{"type": "any"}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'convex_mutation', $$SELECT convex_mutation('sp:note', '{}')$$) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'drop_mutation', $$SELECT 'ok' FROM convex_drop_mutation('sp:note2')$$) \g /dev/null
SELECT coalesce(regress_sp_tools.try(:'sp_label', 'scheduler runAfter', $$SELECT convex_scheduler_run_after(86400000, 'sp:note', '{}')$$), 'missing') AS sp_job \gset
SELECT regress_sp_tools.try(:'sp_label', 'scheduler cancel', pg_catalog.format('SELECT ''ok'' FROM convex_scheduler_cancel(%L)', :'sp_job')) \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'scheduler cleanup', 'SELECT convex_scheduler_cleanup(0)') \g /dev/null
SELECT regress_sp_tools.try(:'sp_label', 'ids', pg_catalog.format('SELECT convex_id_table(%L)', :'sp_m1')) \g /dev/null

SELECT pg_catalog.set_config('search_path', '"$user", public', true) \g /dev/null
RESET search_path;
